cs_unit_test(test_sandbox SOURCES test_sandbox.c)
