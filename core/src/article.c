/* placeholder: being written */
#include "trawl/status.h"
