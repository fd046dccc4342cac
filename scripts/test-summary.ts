// Prints `tests: N passed, N failed` from vitest's JSON report; exits 1 unless the run is sound.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? '.reports/vitest.json';

interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numTotalTests: number;
  numFailedTestSuites: number;
}

function read(): Report | string {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    return `no test report at ${path}`;
  }
  try {
    const report = JSON.parse(raw) as Partial<Report>;
    const counts = ['numPassedTests', 'numFailedTests', 'numTotalTests'] as const;
    if (counts.some((key) => typeof report[key] !== 'number')) return `${path} has no test counts`;
    return { numFailedTestSuites: 0, ...report } as Report;
  } catch (err) {
    return `${path} is not JSON: ${(err as Error).message}`;
  }
}

const report = read();
if (typeof report === 'string') {
  console.error(report);
  console.log('tests: 0 passed, 0 failed');
  process.exit(1);
}
// Diagnostics first: the counts line must stay the last line of the CI log.
if (report.numTotalTests === 0) console.error('the report contains no tests');
if (report.numFailedTestSuites > 0) console.error(`${report.numFailedTestSuites} suites failed`);
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
const sound =
  report.numTotalTests > 0 && report.numFailedTests === 0 && report.numFailedTestSuites === 0;
process.exit(sound ? 0 : 1);
