package adapi

// decodeFast fills w from body in one pass when body has the common shape
// of a univariate request: an object whose members are the known fields
// (exact names), "series" an array of objects with only "timestamp" and
// "value", every scalar null, a plain number or a string without escapes or
// non-ASCII bytes. It reports false for anything else (and for malformed
// JSON), and the caller then decodes with encoding/json, which reports
// errors precisely. Scalars go through the same UnmarshalJSON methods, so
// an accepted body yields exactly what encoding/json would.
func decodeFast(body []byte, w *wireRequest) bool {
	p := fastParser{b: body}
	p.ws()
	if !p.eat('{') {
		return false
	}
	p.ws()
	if p.eat('}') {
		return p.end()
	}
	for {
		p.ws()
		key, ok := p.str()
		if !ok {
			return false
		}
		p.ws()
		if !p.eat(':') {
			return false
		}
		p.ws()
		switch string(key[1 : len(key)-1]) {
		case "series":
			if p.null() {
				w.Series = wireSeries{}
				break
			}
			pts, ok := p.series()
			if !ok {
				return false
			}
			w.Series = wireSeries{points: pts, set: true}
		case "granularity":
			ok = p.text(&w.Granularity)
		case "imputeMode":
			ok = p.text(&w.ImputeMode)
		case "customInterval":
			ok = p.number(&w.CustomInterval)
		case "period":
			ok = p.number(&w.Period)
		case "maxAnomalyRatio":
			ok = p.number(&w.MaxAnomalyRatio)
		case "sensitivity":
			ok = p.number(&w.Sensitivity)
		case "imputeFixedValue":
			ok = p.number(&w.ImputeFixedValue)
		case "stableTrendWindow":
			ok = p.number(&w.StableTrendWindow)
		case "threshold":
			ok = p.number(&w.Threshold)
		default:
			return false
		}
		if !ok {
			return false
		}
		p.ws()
		if p.eat('}') {
			return p.end()
		}
		if !p.eat(',') {
			return false
		}
	}
}

type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *fastParser) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// str returns a plain string token, quotes included.
func (p *fastParser) str() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.i - 1
	for p.i < len(p.b) {
		c := p.b[p.i]
		p.i++
		switch {
		case c == '"':
			return p.b[start:p.i], true
		case c < 0x20 || c >= 0x80 || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// num returns a JSON number token (RFC 8259 grammar).
func (p *fastParser) num() ([]byte, bool) {
	b, start := p.b, p.i
	i := p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return nil, false
		}
	}
	p.i = i
	return b[start:i], true
}

// null consumes a null literal, which encoding/json hands to UnmarshalJSON.
func (p *fastParser) null() bool {
	if len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		return true
	}
	return false
}

func (p *fastParser) text(t *text) bool {
	if p.null() {
		return t.UnmarshalJSON([]byte("null")) == nil
	}
	s, ok := p.str()
	return ok && t.UnmarshalJSON(s) == nil
}

// number takes a number or a string (as the Python SDK sends values).
func (p *fastParser) number(n *number) bool {
	var tok []byte
	var ok bool
	if p.null() {
		return n.UnmarshalJSON([]byte("null")) == nil
	}
	if p.i < len(p.b) && p.b[p.i] == '"' {
		tok, ok = p.str()
	} else {
		tok, ok = p.num()
	}
	return ok && n.UnmarshalJSON(tok) == nil
}

func (p *fastParser) series() ([]wirePoint, bool) {
	if !p.eat('[') {
		return nil, false
	}
	pts := make([]wirePoint, 0, max(16, len(p.b)/48))
	p.ws()
	if p.eat(']') {
		return pts, true
	}
	for {
		p.ws()
		if !p.eat('{') {
			return nil, false
		}
		var pt wirePoint
		for {
			p.ws()
			key, ok := p.str()
			if !ok {
				return nil, false
			}
			p.ws()
			if !p.eat(':') {
				return nil, false
			}
			p.ws()
			switch string(key[1 : len(key)-1]) {
			case "timestamp":
				ok = p.text(&pt.Timestamp)
			case "value":
				ok = p.number(&pt.Value)
			default:
				return nil, false
			}
			if !ok {
				return nil, false
			}
			p.ws()
			if p.eat('}') {
				break
			}
			if !p.eat(',') {
				return nil, false
			}
		}
		pts = append(pts, pt)
		p.ws()
		if p.eat(']') {
			return pts, true
		}
		if !p.eat(',') {
			return nil, false
		}
	}
}
