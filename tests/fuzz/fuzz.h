/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * fuzz.h - the libFuzzer entry point every harness tests/fuzz/fuzz_NAME.c
 * defines. The same harness is linked two ways (see the Makefile):
 *  - with clang -fsanitize=fuzzer into build/fuzz/fuzz_NAME (libFuzzer's
 *    main drives it), and
 *  - with tests/fuzz/replay.c into build/tests/fuzz/replay_NAME, which feeds
 *    it the saved corpus tests/fuzz/corpus/NAME/ inside `make test`.
 * A harness reports a bug by crashing (abort(), or a sanitizer report).
 */
#ifndef OPENVMBUS_FUZZ_H
#define OPENVMBUS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
