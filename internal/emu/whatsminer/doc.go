// Package whatsminer emulates the Whatsminer (MicroBT btminer) API v2 on
// TCP 4028 on top of an emu.Device: plain readable commands (summary,
// status, pools), get_token with its per-IP token limit and token
// lifetime, and encrypted privileged commands (power_off, power_on,
// update_pools) under the md5-crypt / AES-256-ECB scheme. Wrong
// passwords, expired tokens and the token limit are refused with the
// API's codes. With Config.APIVersion = 3 it speaks API v3 instead
// (length-prefixed JSON, salt and per-command token, set.miner.service).
// Facts and sources are in switcher/whatsminer's doc.go. A test world,
// not the product.
package whatsminer
