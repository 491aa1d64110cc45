#pragma once
// Every text form of the FailoverGroup domain, for code that wants them all: durations
// and times (time_text.h), the spec (spec_parse.h), the status (status_json.h) and the
// observations read from API objects (object_observations.h). New code includes the one
// it needs.

#include "failover/object_observations.h"
#include "failover/spec_parse.h"
#include "failover/status_json.h"
#include "failover/time_text.h"
