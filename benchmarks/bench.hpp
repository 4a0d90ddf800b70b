#pragma once

/// The benchmark tool's entry point, kept apart from main() so the body is a library.
namespace hookwerk::bench {

/// Parses the command line, runs the selected workloads and prints the report.
/// Returns the process exit status: 0 when every selected workload produced its figures and
/// every delivered/accepted figure is 1.0, 1 otherwise, 2 on a usage error, 130 on SIGINT.
int run_bench(int argc, char** argv);

} // namespace hookwerk::bench
