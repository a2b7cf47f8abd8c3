#include "test_util.hpp"

int main() { return inkwell_test::run_all(); }
