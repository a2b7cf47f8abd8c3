#include "cuda_test_util.hpp"

int main() { return inkwell_test::run_cuda_tests(); }
