package stratum

import "bytes"

// ParseSubmitLine is the share path's decoder: it reads a mining.submit
// line as miners send it — {"id":ID,"method":"mining.submit","params":[...]}
// in that key order or any other, strings without escapes — into *sub,
// with one allocation (the strings share one copy of the line). ok is
// false for anything else (another method, escapes, odd spacing, extra
// members; *sub is then undefined), and the caller falls back to Decode
// and ParseSubmit, which give the same result for every line
// ParseSubmitLine accepts (FuzzParseSubmitLine checks that). The caller
// owns sub, so it may live on the caller's stack.
func ParseSubmitLine(line []byte, sub *Submit) (id []byte, ok bool) {
	if bytes.IndexByte(line, '\\') >= 0 || !bytes.Contains(line, []byte(`"mining.submit"`)) {
		return nil, false
	}
	str := string(line) // the one allocation: every field below is a substring
	p := fastParser{s: str}
	p.ws()
	if !p.lit("{") {
		return nil, false
	}
	*sub = Submit{}
	var haveID, haveMethod, haveParams bool
	var idStart, idEnd int
	for i := 0; i < 3; i++ {
		p.ws()
		key, ok := p.str()
		if !ok {
			return nil, false
		}
		p.ws()
		if !p.lit(":") {
			return nil, false
		}
		p.ws()
		switch key {
		case "id":
			if haveID {
				return nil, false
			}
			idStart = p.i
			if !p.scalar() {
				return nil, false
			}
			idEnd, haveID = p.i, true
		case "method":
			m, ok := p.str()
			if !ok || m != MethodSubmit || haveMethod {
				return nil, false
			}
			haveMethod = true
		case "params":
			if haveParams || !p.submitParams(sub) {
				return nil, false
			}
			haveParams = true
		default:
			return nil, false
		}
		p.ws()
		if i < 2 && !p.lit(",") {
			return nil, false
		}
	}
	p.ws()
	if !p.lit("}") || !haveID || !haveMethod || !haveParams {
		return nil, false
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, false
	}
	switch {
	case !IsHex(sub.Extranonce2, -1), !IsHex(sub.NTime, 4), !isNonce(sub.Nonce),
		sub.Version != "" && !IsHex(sub.Version, 4):
		return nil, false // the slow path words the error
	}
	sub.Nonce = padNonce(sub.Nonce) // allocates only for a short nonce
	return line[idStart:idEnd], true
}

type fastParser struct {
	s string
	i int
}

func (p *fastParser) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *fastParser) lit(l string) bool {
	if len(p.s)-p.i >= len(l) && p.s[p.i:p.i+len(l)] == l {
		p.i += len(l)
		return true
	}
	return false
}

// str reads a string without escapes (the caller refused any backslash).
func (p *fastParser) str() (string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	end := p.i + 1
	for end < len(p.s) && p.s[end] != '"' {
		// Control bytes and non-ASCII (encoding/json would replace invalid
		// UTF-8) go the slow way.
		if c := p.s[end]; c < 0x20 || c >= 0x80 {
			return "", false
		}
		end++
	}
	if end >= len(p.s) {
		return "", false
	}
	v := p.s[p.i+1 : end]
	p.i = end + 1
	return v, true
}

// scalar skips an id: a string, an unsigned integer, or null.
func (p *fastParser) scalar() bool {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		_, ok := p.str()
		return ok
	}
	if p.lit("null") {
		return true
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	// No leading zeros, signs, fractions or exponents: those go the slow way.
	return p.i > start && (p.i-start == 1 || p.s[start] != '0')
}

// submitParams reads ["worker","job","en2","ntime","nonce"(,"version")].
func (p *fastParser) submitParams(s *Submit) bool {
	if !p.lit("[") {
		return false
	}
	fields := []*string{&s.Worker, &s.JobID, &s.Extranonce2, &s.NTime, &s.Nonce, &s.Version}
	for i, f := range fields {
		p.ws()
		v, ok := p.str()
		if !ok {
			return false
		}
		*f = v
		p.ws()
		if p.lit("]") {
			return i >= 4
		}
		if !p.lit(",") {
			return false
		}
	}
	return false
}

// ParseAnswerLine reads a pool's answer to a request of ours in its common
// forms — {"id":N,"result":true|false,"error":null} in any key order —
// without encoding/json. ok is false for anything else (an error answer,
// a result that is not a boolean, a notification), which the caller reads
// with Decode.
func ParseAnswerLine(line []byte) (id uint64, result bool, ok bool) {
	if len(line) == 0 || bytes.IndexByte(line, '\\') >= 0 {
		return 0, false, false
	}
	p := fastParser{s: bytesToStringNoCopy(line)}
	p.ws()
	if !p.lit("{") {
		return 0, false, false
	}
	var haveID, haveResult, haveError bool
	for i := 0; i < 3; i++ {
		p.ws()
		key, kok := p.str()
		if !kok {
			return 0, false, false
		}
		p.ws()
		if !p.lit(":") {
			return 0, false, false
		}
		p.ws()
		switch {
		case key == "id" && !haveID:
			start := p.i
			for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' && p.i-start < 19 {
				id = id*10 + uint64(p.s[p.i]-'0')
				p.i++
			}
			if p.i == start || p.s[start] == '0' && p.i-start > 1 {
				return 0, false, false // JSON has no leading zeros
			}
			haveID = true
		case key == "result" && !haveResult:
			switch {
			case p.lit("true"):
				result = true
			case p.lit("false"):
			default:
				return 0, false, false
			}
			haveResult = true
		case key == "error" && !haveError:
			if !p.lit("null") {
				return 0, false, false
			}
			haveError = true
		default:
			return 0, false, false
		}
		p.ws()
		if i < 2 && !p.lit(",") {
			return 0, false, false
		}
	}
	p.ws()
	if !p.lit("}") {
		return 0, false, false
	}
	p.ws()
	return id, result, p.i == len(p.s) && haveID && haveResult && haveError
}
