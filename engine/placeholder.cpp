#include "storage/status.hpp"
