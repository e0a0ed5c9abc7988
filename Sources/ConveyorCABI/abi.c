// The declarations of include/conveyor.h are implemented in Swift
// (Sources/ConveyorC); this target only carries the header and its types.
#include "conveyor.h"
