// Every kernel family's header, so kernels.inc can name the classes.
#pragma once
#include "kernels/elementwise/elementwise.h"
