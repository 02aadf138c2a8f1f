import type { Config } from "../config/config";
import { describeAnswer, eachBounded, NodeClient, type NodeAnswer } from "../modules/cluster/client";
import type { MoveReport } from "../modules/cluster/move";

interface Node {
  name: string;
  url: string;
  /** Its own websites (not those it marked as moved away). */
  websites: string[];
  /** Websites it gave away, and whether its old copy is still there. */
  moved: { website: string; to: string; copy: boolean }[];
}

/** One step of the plan: a website to move from one node to another, or an old copy to remove. */
interface Step {
  website: string;
  from: Node;
  to: Node;
  /** "resume": marked as moved, but its new owner never took it (see move.ts). */
  kind: "move" | "resume" | "finish";
}

export interface RebalanceOptions {
  dryRun: boolean;
  finish: boolean;
}

/**
 * `micro-analytics rebalance --router NEW_ROUTER --nodes URL,URL,…`: moves
 * every website whose owner changes when the cluster gets (or loses) a node.
 * `--router` is a router already configured with the new list of nodes, not
 * yet the one clients use: asked for each website (`GET /<website>/_node`),
 * it names the new owner. `--nodes` lists every node, old and new, by the
 * URL they reach each other at. The service never computes a hash ring.
 *
 * With `--dry-run` it prints the plan. Without, it first tells every node
 * that a rebalance to that router has begun (a website first written on a
 * node from then on is refused there unless the new router gives it to that
 * node, see modules/cluster/rebalancing.ts), then moves each website (see
 * modules/cluster/move.ts); the old owners then refuse the moved websites
 * (421) until the router clients use is switched to the new configuration.
 * After the switch, `--finish` removes the old copies and tells the nodes
 * the rebalance is over.
 *
 * Exit codes: 0 done, 1 something could not be done (it says what; running
 * it again resumes), 2 a node or the router cannot be asked.
 */
export async function rebalance(config: Config, { dryRun, finish }: RebalanceOptions): Promise<number> {
  const client = new NodeClient(config);
  const router = config.cluster.router!;
  const concurrency = config.cluster.concurrency;
  const say = (line: string) => console.log(line);
  const complain = (line: string) => console.error(`micro-analytics rebalance: ${line}`);

  let nodes: Node[];
  try {
    // Before the websites are listed: from here on, a website new on a node is refused there unless it will stay (see rebalancing.ts).
    if (!dryRun && !finish) await Promise.all(config.cluster.nodes.map((url) => startRebalance(client, url, router)));
    nodes = await Promise.all(config.cluster.nodes.map((url) => readNode(client, url)));
  } catch (error) {
    complain((error as Error).message);
    return 2;
  }
  const byName = new Map(nodes.map((node) => [node.name, node]));
  if (byName.size !== nodes.length) {
    complain(`two of --nodes answer with the same name (${nodes.map((n) => n.name).join(", ")}); give each node its own --node-name.`);
    return 2;
  }

  const holders = new Map<string, Node[]>();
  for (const node of nodes) for (const website of node.websites) holders.set(website, [...(holders.get(website) ?? []), node]);
  const conflicts = Array.from(holders).filter(([, list]) => list.length > 1);
  for (const [website, list] of conflicts) {
    complain(`${website} is on ${list.map((n) => n.name).join(" and ")}: left alone; keep one copy (DELETE it on the other node) and run again.`);
  }
  const pendingCopies = nodes.flatMap((node) => node.moved.filter((m) => m.copy).map((m) => ({ node, ...m })));

  const asked = [...Array.from(holders).filter(([, list]) => list.length === 1).map(([website]) => website), ...pendingCopies.map((p) => p.website)];
  const owners = new Map<string, Node>();
  let unknown = 0;
  await eachBounded(Array.from(new Set(asked)), concurrency, async (website) => {
    let answer: NodeAnswer | undefined;
    try {
      answer = await client.json(`${router}/${encodeURIComponent(website)}/_node`);
    } catch (error) {
      complain(`the router did not answer for ${website} (${(error as Error).message})`);
    }
    const owner = answer?.node === undefined ? undefined : byName.get(answer.node);
    if (owner) owners.set(website, owner);
    else {
      unknown++;
      if (answer) complain(`the router sends ${website} to ${answer.node ?? "a node that does not say its name"} (${describeAnswer(answer)}), which is not one of --nodes`);
    }
  });
  if (unknown > 0) {
    complain(`${unknown} websites have no owner among --nodes under the router ${router}; nothing was changed.`);
    return 2;
  }

  const steps: Step[] = [];
  for (const [website, [from]] of holders) {
    const to = owners.get(website);
    if (to && to !== from && conflicts.every(([name]) => name !== website)) steps.push({ website, from: from!, to, kind: "move" });
  }
  for (const { node, website } of pendingCopies) {
    const to = owners.get(website)!;
    if (to === node) complain(`${website} moved away from ${node.name}, but the router sends it there again: left alone.`);
    else steps.push({ website, from: node, to, kind: to.websites.includes(website) ? "finish" : "resume" });
  }
  steps.sort((a, b) => (a.website < b.website ? -1 : 1));
  const moves = steps.filter((step) => step.kind !== "finish");
  const finishes = steps.filter((step) => step.kind === "finish");
  const total = holders.size;

  if (dryRun) {
    for (const step of steps) say(`${step.kind.padEnd(6)} ${step.website}: ${step.from.name} -> ${step.to.name}`);
    say(
      `plan: ${moves.length} of ${total} websites move (${percent(moves.length, total)})` +
        `${finishes.length > 0 ? `, ${finishes.length} old copies to remove with --finish` : ""}; ` +
        nodes.map((node) => `${node.name} ${node.websites.length - count(moves, "from", node) + count(moves, "to", node)}`).join(", "),
    );
    return conflicts.length > 0 ? 1 : 0;
  }

  if (finish) {
    if (moves.length > 0) complain(`${moves.length} websites have not moved yet (run rebalance without --finish first); their copies stay.`);
    let failed = 0;
    await eachBounded(finishes, concurrency, async (step) => {
      const answer = await client.json(`${step.from.url}/_cluster/moved/${encodeURIComponent(step.website)}`, { method: "DELETE" }).catch((error: Error) => error);
      if (answer instanceof Error || answer.status !== 200) {
        failed++;
        complain(`cannot remove the old copy of ${step.website} on ${step.from.name}: ${answer instanceof Error ? answer.message : describeAnswer(answer)}`);
      } else say(`removed the old copy of ${step.website} on ${step.from.name} (now on ${step.to.name})`);
    });
    say(`finished: ${finishes.length - failed} old copies removed, ${failed} failed`);
    if (failed > 0 || moves.length > 0 || conflicts.length > 0) return 1;
    for (const node of nodes) {
      const answer = await client.json(`${node.url}/_cluster/rebalance`, { method: "DELETE" }).catch((error: Error) => error);
      if (answer instanceof Error || answer.status !== 200) {
        complain(`cannot tell ${node.name} that the rebalance is over: ${answer instanceof Error ? answer.message : describeAnswer(answer)}; run --finish again`);
        return 1;
      }
    }
    return 0;
  }

  const started = performance.now();
  const reports: MoveReport[] = [];
  let failed = 0;
  await eachBounded(moves, concurrency, async (step) => {
    const answer = await client
      .json(`${step.from.url}/_cluster/move/${encodeURIComponent(step.website)}`, { body: { to: step.to.url, self: step.from.url } })
      .catch((error: Error) => error);
    if (answer instanceof Error || answer.status !== 200) {
      failed++;
      complain(`cannot move ${step.website} from ${step.from.name} to ${step.to.name}: ${answer instanceof Error ? answer.message : describeAnswer(answer)}`);
      return;
    }
    const report = answer.body as MoveReport;
    reports.push(report);
    say(`moved ${step.website}: ${step.from.name} -> ${step.to.name}, ${report.months} months, ${report.events} events, ${report.bytes} bytes, writes held ${report.holdMs} ms`);
  });
  const seconds = (performance.now() - started) / 1000;
  const longest = reports.reduce((max, report) => Math.max(max, report.holdMs), 0);
  say(
    `moved ${reports.length} of ${moves.length} websites (${percent(moves.length, total)} of ${total}) in ${seconds.toFixed(1)} s, ` +
      `${reports.reduce((sum, r) => sum + r.events, 0)} events; the longest write hold was ${longest} ms; ${failed} failed`,
  );
  if (reports.length > 0 || finishes.length > 0) {
    say("The old nodes now answer 421 for the websites that moved: switch the router to the new list of nodes, then run rebalance --finish with the same flags.");
  }
  return failed > 0 || conflicts.length > 0 ? 1 : 0;
}

/** Tells a node that a rebalance to `router` has begun. */
async function startRebalance(client: NodeClient, url: string, router: string): Promise<void> {
  let answer: NodeAnswer;
  try {
    answer = await client.json(`${url}/_cluster/rebalance`, { method: "PUT", body: { router } });
  } catch (error) {
    throw new Error(`the node ${url} does not answer (${(error as Error).message}); every node in --nodes must be up.`);
  }
  if (answer.status !== 200) throw new Error(`the node ${url} answers ${describeAnswer(answer)} to the start of the rebalance.`);
}

/** Asks a node its name (the header of `GET /`), its websites and those it gave away. */
async function readNode(client: NodeClient, url: string): Promise<Node> {
  const ask = async (path: string) => {
    let answer: NodeAnswer;
    try {
      answer = await client.json(url + path);
    } catch (error) {
      throw new Error(`the node ${url} does not answer (${(error as Error).message}); every node in --nodes must be up.`);
    }
    if (answer.status !== 200) throw new Error(`the node ${url} answers ${describeAnswer(answer)} to ${path}.`);
    return answer;
  };
  const home = await ask("/");
  if (home.node === undefined) throw new Error(`the node ${url} does not name itself in an X-Node-Name header; is it an older micro-analytics?`);
  const [websites, moved] = await Promise.all([ask("/_cluster/websites"), ask("/_cluster/moved")]);
  return { name: home.node, url, websites: websites.body.list, moved: moved.body.list };
}

function count(steps: Step[], side: "from" | "to", node: Node): number {
  return steps.filter((step) => step[side] === node).length;
}

function percent(part: number, whole: number): string {
  return `${whole === 0 ? 0 : ((100 * part) / whole).toFixed(1)} %`;
}
