// hookwerk-bench: load generator, receiver and report for a running or self-started server.
// Everything lives in hookwerk_bench_lib; see bench.hpp and README.md.
#include "benchmarks/bench.hpp"

int main(int argc, char** argv) { return hookwerk::bench::run_bench(argc, argv); }
