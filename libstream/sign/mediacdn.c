/* sign/mediacdn.c: being written */
#include "stream/sign.h"
