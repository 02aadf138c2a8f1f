/** Answers worked out in a test from the events themselves, to hold the service's against. */

/** The events by `keyOf`: how many in each group, and its distinct visitors. */
export function grouped<E extends { ip: string }>(events: E[], keyOf: (event: E) => string | number) {
  const groups = new Map<string | number, { total: number; visitors: Set<string> }>();
  for (const event of events) {
    const key = keyOf(event);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { total: 0, visitors: new Set() }));
    group.total++;
    group.visitors.add(event.ip);
  }
  return groups;
}
