/**
 * Named queues across real processes, on an SQLite file and on PostgreSQL
 * (the tests' server; see tests/support/postgres_tests.ts): the
 * cross-process section of the conformance suite
 * (tests/conformance/queue_processes.ts), run for each store that child
 * processes can open: a global concurrency limit and a rate limit across
 * three worker processes, a pause they obey, workers' queue lists.
 */
import { queueProcessTests } from "./conformance/queue_processes.ts";
import { describeProcessSection } from "./support/process_sections.ts";

await describeProcessSection(queueProcessTests);
