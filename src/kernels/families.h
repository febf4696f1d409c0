// Every kernel family's header, so kernels.inc can name the classes.
#pragma once
#include "kernels/elementwise/elementwise.h"
#include "kernels/shape/shape.h"
#include "kernels/nn/nn.h"
#include "kernels/control_flow/control_flow.h"
#include "kernels/dnnl/dnnl.h"
#include "kernels/quant/quant.h"
#include "kernels/recurrent/recurrent.h"
#include "kernels/vision/vision.h"
#include "kernels/elementwise/misc.h"
#include "kernels/signal/signal.h"
