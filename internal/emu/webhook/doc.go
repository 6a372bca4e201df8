// Package webhook is a receiver of hashgate's signed webhook (a PDU or a
// site controller) on top of an emu.Device: it verifies the
// X-Hashgate-Signature HMAC-SHA256 of the body (wrong secret: 401),
// rejects requests whose signed time is too far from its clock (401) and
// replays of a request it already accepted (409), and curtails, resumes
// or reads the device. The device's faults apply. It verifies the wire
// format on its own, without the driver's code. A test world, not the
// product.
package webhook
