/* sign/cloudcdn.c: being written */
#include "stream/sign.h"
