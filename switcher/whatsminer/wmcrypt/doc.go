// Package wmcrypt is the cryptography of the Whatsminer API v2 (MicroBT
// btminer, TCP 4028): md5-crypt ("$1$", as `openssl passwd -1`), the
// key and sign derived from a get_token answer, and the AES-256-ECB +
// base64 envelope of privileged commands. Shared by the whatsminer
// driver and its emulator; sources are in the whatsminer package's
// doc.go.
package wmcrypt
