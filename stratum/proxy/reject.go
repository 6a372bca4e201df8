package proxy

import "github.com/hashgate/hashgate/stratum"

// Share verdicts, as counted per worker and in metrics: the label of each
// rejectReason (the API's and the metrics' reason values).
const (
	RejectStale         = "stale"          // unknown job or before the last clean_jobs
	RejectDuplicate     = "duplicate"      // the same header again
	RejectLowDifficulty = "low_difficulty" // does not meet the difficulty judged
	RejectUnauthorized  = "unauthorized"   // a worker not authorized on the connection
	RejectNotSubscribed = "not_subscribed" // a submit before mining.subscribe
	RejectNTime         = "ntime"          // ntime outside [job ntime, +maxNTimeRoll]
	RejectVersion       = "version"        // version bits outside the mask
	RejectExtranonce2   = "extranonce2"    // wrong extranonce2 length, or not hex
	RejectOther         = "other"          // malformed params
)

// rejectReason says why the proxy refused a share: the code and message
// its answer carries and the label it is counted under, all from
// rejectReasons. Its value indexes the per-reason counters.
type rejectReason uint8

const (
	rejectStale rejectReason = iota
	rejectDuplicate
	rejectLowDifficulty
	rejectUnauthorized
	rejectNotSubscribed
	rejectNTime
	rejectVersion
	rejectExtranonce2
	rejectOther
	numRejectReasons
)

// rejectReasons is the one table of share rejections. msg is the answer's
// message unless the caller gives a more precise one (rejectShare).
var rejectReasons = [numRejectReasons]struct {
	code  stratum.ErrorCode
	label string
	msg   string
}{
	rejectStale:         {stratum.ErrJobNotFound, RejectStale, "job not found"},
	rejectDuplicate:     {stratum.ErrDuplicate, RejectDuplicate, "duplicate share"},
	rejectLowDifficulty: {stratum.ErrLowDifficulty, RejectLowDifficulty, "low difficulty share"},
	rejectUnauthorized:  {stratum.ErrUnauthorized, RejectUnauthorized, "unauthorized worker"},
	rejectNotSubscribed: {stratum.ErrNotSubscribed, RejectNotSubscribed, "not subscribed"},
	rejectNTime:         {stratum.ErrOther, RejectNTime, "ntime out of range"},
	rejectVersion:       {stratum.ErrOther, RejectVersion, "version bits outside the negotiated mask"},
	rejectExtranonce2:   {stratum.ErrOther, RejectExtranonce2, "extranonce2 must be hex"},
	rejectOther:         {stratum.ErrOther, RejectOther, "bad params"},
}

// String is the reason's label.
func (r rejectReason) String() string { return rejectReasons[r].label }

// answer is the error a share refused for r is answered with: msg, or the
// table's message when msg is "".
func (r rejectReason) answer(msg string) *stratum.Error {
	if msg == "" {
		msg = rejectReasons[r].msg
	}
	return stratum.NewError(rejectReasons[r].code, msg)
}
