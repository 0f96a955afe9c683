package adapi

// Version is an Anomaly Detector API version, taken from the request path.
type Version int

// The API versions Vigil serves.
const (
	V10         Version = iota + 1 // v1.0: no severity, margins (100-s)% of |expected|
	V11Preview1                    // v1.1-preview.1: as v1.0 plus severity and a clamped lower boundary
	V11                            // v1.1 GA
)

// ParseVersion returns the version named by s ("v1.0", "v1.1",
// "v1.1-preview.1") and reports whether s is one Vigil serves.
func ParseVersion(s string) (Version, bool) {
	switch s {
	case "v1.0":
		return V10, true
	case "v1.1-preview.1":
		return V11Preview1, true
	case "v1.1":
		return V11, true
	}
	return 0, false
}

// String returns the version as it appears in a path.
func (v Version) String() string {
	switch v {
	case V10:
		return "v1.0"
	case V11Preview1:
		return "v1.1-preview.1"
	case V11:
		return "v1.1"
	}
	return "unknown"
}

// hasSeverity reports whether answers in this version carry severity.
func (v Version) hasSeverity() bool { return v != V10 }

// hasImpute reports whether the version knows imputeMode.
func (v Version) hasImpute() bool { return v != V10 }

// Operation is one of the three univariate operations.
type Operation int

// The operations.
const (
	Entire      Operation = iota + 1 // POST /timeseries/entire/detect
	Last                             // POST /timeseries/last/detect
	ChangePoint                      // POST /timeseries/changepoint/detect
)

// ParseOperation maps the path segment before "/detect" to an operation.
func ParseOperation(s string) (Operation, bool) {
	switch s {
	case "entire":
		return Entire, true
	case "last":
		return Last, true
	case "changepoint":
		return ChangePoint, true
	}
	return 0, false
}

// String returns the operation's path segment.
func (o Operation) String() string {
	switch o {
	case Entire:
		return "entire"
	case Last:
		return "last"
	case ChangePoint:
		return "changepoint"
	}
	return "unknown"
}
