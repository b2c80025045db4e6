// Checks that the JSR and npm manifests describe the same package: same
// version, the same entry points (each .ts source in deno.json built to the
// .js and .d.ts of the same name in dist/ for npm), and the same dependency
// ranges.
import { readFileSync } from "node:fs";

const deno = JSON.parse(readFileSync("deno.json", "utf8"));
const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const problems = [];

if (deno.version !== pkg.version) {
  problems.push(
    `version: deno.json ${deno.version} != package.json ${pkg.version}`,
  );
}
// Subpath -> source base name: "./backend" is backend.ts, dist/backend.js.
const ENTRY_POINTS = {
  ".": "mod",
  "./backend": "backend",
  "./postgres": "postgres",
  "./dashboard": "dashboard",
  "./cli": "cli",
};
const denoExports = deno.exports ?? {};
const pkgExports = pkg.exports ?? {};
for (const [subpath, base] of Object.entries(ENTRY_POINTS)) {
  if (denoExports[subpath] !== `./${base}.ts`) {
    problems.push(`deno.json exports["${subpath}"] must be "./${base}.ts"`);
  }
  for (const [condition, file] of [["types", "d.ts"], ["default", "js"]]) {
    const want = `./dist/${base}.${file}`;
    if (pkgExports[subpath]?.[condition] !== want) {
      problems.push(
        `package.json exports["${subpath}"].${condition} must be "${want}"`,
      );
    }
  }
}
const manifests = { "deno.json": denoExports, "package.json": pkgExports };
for (const [name, exports] of Object.entries(manifests)) {
  for (const subpath of Object.keys(exports)) {
    if (!(subpath in ENTRY_POINTS)) {
      problems.push(
        `${name} exports "${subpath}": add it to both manifests and to ENTRY_POINTS here`,
      );
    }
  }
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
