/**
 * Recurring schedules across real processes, on an SQLite file and on
 * PostgreSQL (the tests' server; see tests/support/postgres_tests.ts):
 * the cross-process section of the conformance suite
 * (tests/conformance/schedule_processes.ts), run for each store that
 * child processes can open.
 */
import { scheduleProcessTests } from "./conformance/schedule_processes.ts";
import { describeProcessSection } from "./support/process_sections.ts";

await describeProcessSection(scheduleProcessTests);
