// Checks that the JSR and npm manifests describe the same package: same
// version, one entry point each, and the same dependency ranges.
import { readFileSync } from "node:fs";

const deno = JSON.parse(readFileSync("deno.json", "utf8"));
const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const problems = [];

if (deno.version !== pkg.version) {
  problems.push(
    `version: deno.json ${deno.version} != package.json ${pkg.version}`,
  );
}
if (deno.exports !== "./mod.ts") {
  problems.push(`deno.json exports must be "./mod.ts"`);
}
if (pkg.exports?.["."]?.default !== "./dist/mod.js") {
  problems.push(`package.json exports["."].default must be "./dist/mod.js"`);
}
for (const [name, range] of Object.entries(pkg.dependencies ?? {})) {
  const mapped = deno.imports?.[name];
  if (mapped !== `npm:${name}@${range}`) {
    problems.push(
      `dependency ${name}: package.json ${range}, deno.json ${mapped}`,
    );
  }
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log("deno.json and package.json agree");
