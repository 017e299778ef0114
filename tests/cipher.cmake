# cscipher: known answers, backend cross-checks, tampering, batches, SIV, HKDF.
cs_unit_test(test_cipher SOURCES test_cipher.c LIBS cscipher)
