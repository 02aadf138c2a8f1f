/**
 * The tracking script, as served: a page view with the page's path and the
 * referrer, posted to the service the script came from, into the website
 * its tag names (`data-website`, else the page's host name). With
 * `data-token` (the ingest token) it posts with fetch, which may carry the
 * header; else with sendBeacon, a plain request that needs no preflight.
 * No cookie, no storage, nothing else read from the page: the visitor's
 * address and User-Agent come with the request itself.
 */
export const TRACKER_SCRIPT =
  "(function(d){var s=d.currentScript;if(!s)return;var a=s.dataset,u=new URL(a.website||location.hostname,s.src).href," +
  'b=JSON.stringify({event:"pageview",path:location.pathname,headers:{Referer:d.referrer}});' +
  'a.token?fetch(u,{method:"POST",body:b,keepalive:!0,headers:{Authorization:"Bearer "+a.token}}):navigator.sendBeacon(u,b)})(document);\n';
