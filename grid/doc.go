// Package grid owns hashgate's faces toward the grid side of a site: the
// utility's or the power desk's signals coming in, and the site's figures
// going out to its RTU/SCADA. It holds no logic of its own; each face is a
// sub-package:
//
//   - grid/mqttsignal subscribes to an MQTT topic for grid signals (an AI
//     allocation, a site cap, a curtail or release command, a power price,
//     a heartbeat), hands each to the switcher and acknowledges it on a
//     reply topic.
//   - grid/registers is a read-only Modbus TCP server that serves the
//     switcher's status figures from a snapshot refreshed on an interval.
//
// Import direction: grid reads switcher (Status, Allocate, SetCap,
// SetPrice, Heartbeat and the audit log's seq); it never imports api, and
// switcher never imports grid. site wires both from the config's [mqtt]
// and [modbus_server] tables (site/grid.go).
package grid
