/**
 * Every peer the bench knows. Adapters import their library lazily, so
 * loading this list never fails on a runtime a peer does not support.
 *
 * @module
 */
import { bullmq } from "./bullmq.js";
import { bunqueue } from "./bunqueue.js";
import { graphileWorker } from "./graphile_worker.js";
import { liteque } from "./liteque.js";
import { pgBoss } from "./pg_boss.js";
import { plainjob } from "./plainjob.js";

/** @type {Record<string, import("./peer.js").PeerAdapter>} */
export const PEERS = {
  plainjob,
  liteque,
  bunqueue,
  bullmq,
  "pg-boss": pgBoss,
  "graphile-worker": graphileWorker,
};
