// Package httpjson reads one number from a JSON document over HTTP: a
// meter.Source for a meter or gateway with an HTTP API (`source =
// "http"`), and the general reader for any figure served that way (the
// power price, the hashprice).
//
// A read is one GET of the URL (Accept: application/json). The answer
// must be a 2xx with a body of at most Config.MaxBytes (default 1 MiB)
// holding one JSON value; anything else is a failed read that says why.
// The URL may carry user:password@ for HTTP Basic authentication; it is
// shown with the password as "xxxxx" in String and in every error.
//
// `field` is a dotted path into the document: "data.kw" is the key "kw"
// of the object under "data"; a segment that is a whole number indexes
// an array ("data.items.0.kw" is the "kw" of the first element of
// "items"; on an object it is the key of that name). A key holding a dot
// cannot be named. The value found must be a JSON number or a string
// holding a plain decimal number ("412.5", "-3e2"); null, booleans,
// objects, arrays, NaN and infinities are refused. The number read is
// multiplied by Config.Scale (default 1).
package httpjson
