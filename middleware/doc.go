// Package middleware holds the HTTP middleware every route passes through:
// panic recovery, access logs, Prometheus metrics and CORS.
//
// A wrapped http.ResponseWriter keeps http.Flusher (SSE needs it),
// http.Hijacker (websocket upgrades need it) and Unwrap.
package middleware
