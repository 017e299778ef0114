cs_unit_test(test_ring SOURCES test_ring.c
  LIBS csproto PkgConfig::URING Threads::Threads)
