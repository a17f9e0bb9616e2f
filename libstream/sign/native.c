/* sign/native.c: being written */
#include "stream/sign.h"
