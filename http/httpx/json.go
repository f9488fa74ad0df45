package httpx

import (
	"encoding/json"
	"io"
)

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	// Outputs are model text: escaping <, > and & would only garble them.
	enc.SetEscapeHTML(false)
	return enc
}

// Encode writes v as JSON to w, unescaped.
func Encode(w io.Writer, v any) error { return jsonEncoder(w).Encode(v) }
