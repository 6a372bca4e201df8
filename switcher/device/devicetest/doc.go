// Package devicetest holds what the firmware drivers' tests share: the
// bound a hung call must end within, a goroutine-leak check, a dialer
// that counts connections, a closed address, a condition poll, and the
// many-rigs-one-driver test every driver runs against its emulator
// (internal/emu). It is imported by _test files only; it mocks nothing:
// every helper works on real TCP and real emulated rigs.
package devicetest
