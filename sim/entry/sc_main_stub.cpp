// libsystemc.so refers to sc_main, so every program that links it must define one, even when it
// has its own main (xpusim, the tests, the benchmarks). None of them calls it.
extern "C" int sc_main(int, char*[]) { return 1; }
