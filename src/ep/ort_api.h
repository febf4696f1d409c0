// The only way Anvil's EP and kernel code includes ORT: the C++ wrappers over the C API, with the
// API table set by CreateEpFactories (ORT_API_MANUAL_INIT is defined for every Anvil target).
// src/compute/ and src/core/ never include this.
#pragma once
#ifndef ORT_API_MANUAL_INIT
#error "Anvil is built with ORT_API_MANUAL_INIT"
#endif
#include <onnxruntime_cxx_api.h>
