// SPDX-License-Identifier: MIT
// The public headers must compile stand-alone as C++ (it provides its own
// extern "C" guards, so it is deliberately not wrapped here).
#include <grb/grb.h>
#include <grb/native.h>
#include <grb/client.h>
#include <grb/ctf.h>

int main()
{
	return 0;
}
