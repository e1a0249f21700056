/*
 * socklab.h - the small helper every lesson links.
 *
 * Six files, each short enough to read in a few minutes, each with its own
 * header, which this one gathers:
 *   errors.c/.h   reporting errors with the program's name and errno's name
 *   net.c/.h      port parsing, address printing, tcp_listen(), tcp_connect()
 *   io.c/.h       full reads and writes that survive short transfers and EINTR
 *   signals.c/.h  a clean shutdown on SIGINT/SIGTERM
 *   accept.c/.h   accept() that survives running out of descriptors
 *   lines.c/.h    whole lines from a stream, with a maximum length
 *
 * To copy one into a program of your own, take the .c file and its .h; the
 * header comment of each says which other file it needs (only errors.c is
 * ever needed; io.c needs nothing).
 *
 * Lesson 01 spells every call out by hand; from lesson 02 on, the lessons use
 * these helpers for what an earlier chapter has already explained.
 */
#ifndef SOCKLAB_H
#define SOCKLAB_H

#include "errors.h"
#include "net.h"
#include "io.h"
#include "signals.h"
#include "accept.h"
#include "lines.h"

#endif
