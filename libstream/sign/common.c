/* sign/common.c: being written */
#include "stream/sign.h"
