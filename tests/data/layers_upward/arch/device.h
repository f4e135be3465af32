// Fixture for the layer check: the higher-layer header that sim/base/upward.h includes.
#pragma once
