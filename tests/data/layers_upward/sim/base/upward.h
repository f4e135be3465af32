// Fixture for the layer check: a base-layer header that includes the arch layer, which the
// check must refuse (tests/CMakeLists.txt: layers.upward_include_fails).
#pragma once

#include "arch/device.h"
