package registers

import (
	"github.com/simonvetter/modbus"
)

// noUnit is the Modbus TCP spec's unit id for a device addressed by its IP
// alone.
const noUnit = 255

// handler answers the library's requests from the snapshot: reads of
// holding and input registers within the map; every write, and coils and
// discrete inputs, with an exception.
type handler struct{ s *Server }

func (h handler) HandleCoils(*modbus.CoilsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

func (h handler) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

func (h handler) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if req.IsWrite {
		return nil, modbus.ErrIllegalFunction // read-only
	}
	return h.read(req.UnitId, req.Addr, req.Quantity)
}

func (h handler) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	return h.read(req.UnitId, req.Addr, req.Quantity)
}

// read serves addr..addr+qty-1 of the snapshot; any register outside the
// map is an illegal data address, another unit a gateway target that does
// not answer.
func (h handler) read(unit uint8, addr, qty uint16) ([]uint16, error) {
	if unit != h.s.cfg.UnitID && unit != noUnit {
		return nil, modbus.ErrGWTargetFailedToRespond
	}
	end := int(addr) + int(qty)
	if qty == 0 || end > NumRegisters {
		return nil, modbus.ErrIllegalDataAddress
	}
	snap := h.s.snap.Load()
	out := make([]uint16, qty)
	copy(out, snap[addr:end])
	return out, nil
}
