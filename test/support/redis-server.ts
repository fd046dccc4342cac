// The launcher lives in @ringcast/redis-server, which the demo, the benchmarks and the
// example application import too; tests keep reaching it through their support folder.
export * from '@ringcast/redis-server';
