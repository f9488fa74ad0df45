package builtin

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits that keep a hostile expression cheap to reject.
const (
	maxExpressionLen   = 1000
	maxExpressionDepth = 64
)

// evaluate parses and evaluates src by recursive descent:
//
//	expr    = term { ("+" | "-") term }
//	term    = unary { ("*" | "/" | "%") unary }
//	unary   = ("-" | "+") unary | power
//	power   = primary [ ("^" | "**") unary ]
//	primary = number | constant | name "(" [ expr { "," expr } ] ")" | "(" expr ")"
//
// Because unary minus binds looser than ^, -2^2 is -(2^2) = -4, as in
// mathematics; ^ is right-associative, so 2^3^2 = 2^9 = 512; and the
// exponent may itself be negative (2^-1 = 0.5).
func evaluate(src string) (float64, error) {
	if len(src) > maxExpressionLen {
		return 0, fmt.Errorf("expression is longer than %d characters", maxExpressionLen)
	}
	p := &parser{src: src}
	v, err := p.expr()
	if err != nil {
		return 0, err
	}
	if p.skipSpace(); p.pos < len(p.src) {
		return 0, p.unexpected()
	}
	return v, nil
}

type parser struct {
	src   string
	pos   int
	depth int
}

func (p *parser) expr() (float64, error) {
	start := p.pos
	v, err := p.term()
	for err == nil {
		op := p.operator("+", "-")
		if op == "" {
			break
		}
		var r float64
		if r, err = p.term(); err == nil {
			v, err = p.apply(start, op, v, r)
		}
	}
	return v, err
}

func (p *parser) term() (float64, error) {
	start := p.pos
	v, err := p.unary()
	for err == nil {
		op := p.operator("*", "/", "%")
		if op == "" {
			break
		}
		var r float64
		if r, err = p.unary(); err == nil {
			v, err = p.apply(start, op, v, r)
		}
	}
	return v, err
}

// unary is where every recursion passes, so it enforces the depth limit.
func (p *parser) unary() (float64, error) {
	if p.depth++; p.depth > maxExpressionDepth {
		return 0, fmt.Errorf("expression is nested more than %d levels deep", maxExpressionDepth)
	}
	defer func() { p.depth-- }()
	op := p.operator("-", "+")
	if op == "" {
		return p.power()
	}
	v, err := p.unary()
	if op == "-" {
		v = -v
	}
	return v, err
}

func (p *parser) power() (float64, error) {
	start := p.pos
	base, err := p.primary()
	if err != nil || p.operator("^", "**") == "" {
		return base, err
	}
	exp, err := p.unary()
	if err != nil {
		return 0, err
	}
	return p.apply(start, "^", base, exp)
}

func (p *parser) primary() (float64, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return 0, errors.New("unexpected end of expression")
	}
	switch c := p.src[p.pos]; {
	case c == '(':
		p.pos++
		v, err := p.expr()
		if err != nil {
			return 0, err
		}
		return v, p.expect(')')
	case isDigit(c) || c == '.':
		return p.number()
	case isLetter(c):
		return p.name()
	default:
		return 0, p.unexpected()
	}
}

func (p *parser) number() (float64, error) {
	start := p.pos
	p.digits()
	if p.peek() == '.' {
		p.pos++
		p.digits()
	}
	p.exponent()
	text := p.src[start:p.pos]
	v, err := strconv.ParseFloat(text, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("number %s is too large", text)
	}
	if err != nil {
		return 0, fmt.Errorf("invalid number %q at position %d", text, start+1)
	}
	return v, nil
}

// exponent consumes e.g. "e-3"; a bare "e" is left alone so that the error
// points at it.
func (p *parser) exponent() {
	if c := p.peek(); c != 'e' && c != 'E' {
		return
	}
	save := p.pos
	p.pos++
	if c := p.peek(); c == '+' || c == '-' {
		p.pos++
	}
	if !isDigit(p.peek()) {
		p.pos = save
		return
	}
	p.digits()
}

func (p *parser) name() (float64, error) {
	start := p.pos
	for p.pos < len(p.src) && (isLetter(p.src[p.pos]) || isDigit(p.src[p.pos])) {
		p.pos++
	}
	name := strings.ToLower(p.src[start:p.pos])
	if p.skipSpace(); p.peek() != '(' {
		return constant(name)
	}
	p.pos++
	args, err := p.arguments()
	if err != nil {
		return 0, err
	}
	v, err := callFunction(name, args)
	return p.wrap(start, v, err)
}

func (p *parser) arguments() ([]float64, error) {
	if p.skipSpace(); p.peek() == ')' {
		p.pos++
		return nil, nil
	}
	var args []float64
	for {
		v, err := p.expr()
		if err != nil {
			return nil, err
		}
		args = append(args, v)
		if p.skipSpace(); p.peek() != ',' {
			return args, p.expect(')')
		}
		p.pos++
	}
}

// apply runs a binary operator and names the failing part of the
// expression in its error, e.g. "1/0: division by zero".
func (p *parser) apply(start int, op string, a, b float64) (float64, error) {
	v, err := binary(op, a, b)
	return p.wrap(start, v, err)
}

func (p *parser) wrap(start int, v float64, err error) (float64, error) {
	if err == nil {
		err = finite(v)
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", strings.TrimSpace(p.src[start:p.pos]), err)
	}
	return v, nil
}

func binary(op string, a, b float64) (float64, error) {
	switch op {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "/":
		if b == 0 {
			return 0, errors.New("division by zero")
		}
		return a / b, nil
	case "%":
		if b == 0 {
			return 0, errors.New("modulo by zero")
		}
		return math.Mod(a, b), nil
	default: // "^"
		return math.Pow(a, b), nil
	}
}

func finite(v float64) error {
	switch {
	case math.IsNaN(v):
		return errors.New("the result is not a real number")
	case math.IsInf(v, 0):
		return errors.New("the result is too large")
	}
	return nil
}

// operator consumes the first of ops found at the cursor. A "*" never
// matches the start of "**", which is the power operator.
func (p *parser) operator(ops ...string) string {
	p.skipSpace()
	rest := p.src[p.pos:]
	for _, op := range ops {
		if strings.HasPrefix(rest, op) && !(op == "*" && strings.HasPrefix(rest, "**")) {
			p.pos += len(op)
			return op
		}
	}
	return ""
}

func (p *parser) expect(c byte) error {
	if p.skipSpace(); p.peek() != c {
		if p.pos >= len(p.src) {
			return fmt.Errorf("missing %q at the end of the expression", c)
		}
		return fmt.Errorf("expected %q at position %d, found %q", c, p.pos+1, p.src[p.pos])
	}
	p.pos++
	return nil
}

func (p *parser) unexpected() error {
	return fmt.Errorf("unexpected %q at position %d", p.src[p.pos], p.pos+1)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *parser) digits() {
	for isDigit(p.peek()) {
		p.pos++
	}
}

// peek returns the byte at the cursor, or 0 at the end.
func (p *parser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
