// Package httpx holds what every HTTP surface shares: authentication and the
// workspace of a request, bounded JSON decoding, request ids, panic recovery
// and access logs. Each surface passes its own ErrorWriter, so errors raised
// here still come out in that surface's shape.
package httpx
