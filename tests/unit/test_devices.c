/*
 * test_devices.c — unit tests of the small devices (devices/testdev.c,
 * port80.c, debugexit.c) and of the platform that puts them, and COM1
 * with its stdio host side, on a port bus (platform.c, stdio_console.c);
 * testdev's MMIO registers on the MMIO bus too.
 *
 * testdev is checked against a byte-array reference of its contract; the
 * platform tests run the console over pipes.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "devices/bus.h"
#include "devices/devices.h"
#include "devices/misc.h"

/* --- testdev ------------------------------------------------------------- */

enum { LATCH = 0x0, FIFO = 0x4, FIFO_COUNT = 0x8, ACCESSES = 0xC };

static struct testdev *td;

static void td_setup(void)
{
	td = testdev_new();
	cr_assert_not_null(td);
}

static void td_teardown(void)
{
	testdev_free(td);
}

TestSuite(testdev, .init = td_setup, .fini = td_teardown);

static uint64_t le_bytes(const uint8_t *b, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

Test(testdev, latch_every_size_and_offset)
{
	static const unsigned sizes[] = { 1, 2, 4 };
	const uint64_t pattern = 0xA4A3A2A1;

	for (unsigned si = 0; si < 3; si++) {
		for (unsigned o = 0; o < 4; o++) {
			unsigned s = sizes[si];
			uint8_t ref[8] = { 0x11, 0x22, 0x33, 0x44 };

			testdev_write(td, LATCH, 4, 0x44332211);
			testdev_write(td, LATCH + o, s, pattern);
			for (unsigned i = 0; i < s && o + i < 4; i++)
				ref[o + i] = (uint8_t)(pattern >> (8 * i));
			cr_assert_eq(testdev_read(td, LATCH, 4), le_bytes(ref, 4),
			             "write size %u offset %u", s, o);
			ref[4] = ref[5] = ref[6] = ref[7] = 0;
			cr_assert_eq(testdev_read(td, LATCH + o, s),
			             le_bytes(ref + o, s),
			             "read size %u offset %u", s, o);
		}
	}
}

Test(testdev, latch_reads_do_not_count)
{
	testdev_read(td, LATCH, 4);
	testdev_write(td, LATCH, 1, 0);
	cr_assert_eq(testdev_read(td, ACCESSES, 4), 0);
}

Test(testdev, fifo_order_little_endian)
{
	testdev_write(td, FIFO, 1, 0x01);
	testdev_write(td, FIFO, 2, 0x0302);
	testdev_write(td, FIFO, 4, 0x07060504);
	cr_assert_eq(testdev_read(td, FIFO_COUNT, 4), 7);
	cr_assert_eq(testdev_read(td, FIFO, 4), 0x04030201);
	cr_assert_eq(testdev_read(td, FIFO, 2), 0x0605);
	cr_assert_eq(testdev_read(td, FIFO_COUNT, 1), 1);
	cr_assert_eq(testdev_read(td, FIFO, 1), 0x07);
	cr_assert_eq(testdev_read(td, FIFO_COUNT, 2), 0);
}

Test(testdev, fifo_empty_reads_ff)
{
	cr_assert_eq(testdev_read(td, FIFO, 1), 0xFF);
	testdev_write(td, FIFO, 2, 0x2211);
	cr_assert_eq(testdev_read(td, FIFO, 4), 0xFFFF2211);
	cr_assert_eq(testdev_read(td, FIFO, 4), 0xFFFFFFFF);
	cr_assert_eq(testdev_read(td, FIFO_COUNT, 4), 0);
}

Test(testdev, fifo_full_drops)
{
	for (unsigned i = 0; i < 4096 / 4; i++)
		testdev_write(td, FIFO, 4, i);
	cr_assert_eq(testdev_read(td, FIFO_COUNT, 4), 4096);
	testdev_write(td, FIFO, 4, 0xDEADBEEF);
	testdev_write(td, FIFO, 1, 0x55);
	cr_assert_eq(testdev_read(td, FIFO_COUNT, 4), 4096);
	for (unsigned i = 0; i < 4096 / 4; i++)
		cr_assert_eq(testdev_read(td, FIFO, 4), i, "word %u", i);
	cr_assert_eq(testdev_read(td, FIFO, 1), 0xFF);
	/* Room again, and the ring wraps correctly. */
	testdev_write(td, FIFO, 2, 0xBEEF);
	cr_assert_eq(testdev_read(td, FIFO, 2), 0xBEEF);
}

Test(testdev, fifo_partial_room)
{
	for (unsigned i = 0; i < 4094; i++)
		testdev_write(td, FIFO, 1, 0);
	testdev_write(td, FIFO, 4, 0x44332211);
	cr_assert_eq(testdev_read(td, FIFO_COUNT, 4), 4096);
	for (unsigned i = 0; i < 4094; i++)
		testdev_read(td, FIFO, 1);
	cr_assert_eq(testdev_read(td, FIFO, 4), 0xFFFF2211,
	             "only the bytes that fit were kept");
}

Test(testdev, access_counter_and_clear)
{
	testdev_write(td, FIFO, 4, 0x01020304);
	testdev_read(td, FIFO, 1);
	testdev_read(td, FIFO, 2);
	testdev_read(td, FIFO_COUNT, 4);
	cr_assert_eq(testdev_read(td, ACCESSES, 4), 3, "one per 0xE4 access");
	cr_assert_eq(testdev_read(td, ACCESSES, 1), 3, "reading 0xEC is free");
	cr_assert_eq(testdev_read(td, FIFO_COUNT, 4), 1);
	testdev_write(td, FIFO_COUNT, 1, 0);
	cr_assert_eq(testdev_read(td, FIFO_COUNT, 4), 0);
	cr_assert_eq(testdev_read(td, ACCESSES, 4), 0);
	cr_assert_eq(testdev_read(td, FIFO, 1), 0xFF, "FIFO emptied");
	cr_assert_eq(testdev_read(td, ACCESSES, 4), 1);
}

Test(testdev, other_ports_read_zero_ignore_writes)
{
	static const unsigned others[] = { 5, 6, 7, 9, 10, 11, 13, 14, 15 };

	testdev_write(td, FIFO, 1, 0x42);
	for (unsigned i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		testdev_write(td, others[i], 4, 0xFFFFFFFF);
		cr_assert_eq(testdev_read(td, others[i], 4), 0, "port %#x",
		             0xE0 + others[i]);
	}
	cr_assert_eq(testdev_read(td, ACCESSES, 4), 1);
	cr_assert_eq(testdev_read(td, FIFO_COUNT, 4), 1);
	cr_assert_eq(testdev_read(td, LATCH, 4), 0);
}

Test(testdev, through_the_bus_one_region)
{
	struct bus *io = bus_new("port");
	uint64_t v;

	cr_assert_eq(bus_register(io, "testdev", PORT_TESTDEV, TESTDEV_NPORTS,
	                          testdev_read, testdev_write, td), 0);
	bus_write(io, PORT_TESTDEV, 4, 0x44332211);
	bus_write(io, PORT_TESTDEV + 2, 4, 0xBBBBAAAA);   /* outl to 0xE2 */
	bus_read(io, PORT_TESTDEV, 4, &v);
	cr_assert_eq(v, 0xAAAA2211);
	bus_read(io, PORT_TESTDEV + 3, 2, &v);
	cr_assert_eq(v, 0x00AA);
	cr_assert_eq(bus_read(io, PORT_TESTDEV + 0xF, 4, &v), BUS_OK);
	cr_assert_eq(bus_read(io, PORT_TESTDEV + 0x10, 1, &v), BUS_UNCLAIMED);
	bus_free(io);
}

/* MMIO: the scratch registers against a byte-array reference, and the
 * counter of scratch accesses at 0x10. */
enum { MMIO_COUNT = 0x10 };

Test(testdev, mmio_scratch_every_size_and_offset)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	const uint64_t pattern = 0xB8B7B6B5B4B3B2B1ull;
	uint8_t ref[24] = { 0 };        /* bytes 16.. stay 0: past the end */

	for (unsigned o = 0; o < 16; o++) {
		for (unsigned k = 0; k < 4; k++) {
			unsigned s = sizes[k];

			testdev_mmio_write(td, o, s, pattern);
			for (unsigned i = 0; i < s && o + i < 16; i++)
				ref[o + i] = (uint8_t)(pattern >> (8 * i));
			for (unsigned r = 0; r < 16; r++)
				cr_assert_eq(testdev_mmio_read(td, r, 1), ref[r],
				             "byte %u after size %u at %u", r, s, o);
			cr_assert_eq(testdev_mmio_read(td, o, s), le_bytes(ref + o, s),
			             "read size %u offset %u", s, o);
		}
	}
}

Test(testdev, mmio_counter_counts_scratch_accesses_only)
{
	testdev_mmio_write(td, 0x0, 4, 1);
	testdev_mmio_read(td, 0x3, 1);
	testdev_mmio_read(td, 0xF, 8);          /* runs past 0xF: still one */
	cr_assert_eq(testdev_mmio_read(td, MMIO_COUNT, 4), 3);
	cr_assert_eq(testdev_mmio_read(td, MMIO_COUNT, 4), 3, "reading is free");
	testdev_mmio_write(td, MMIO_COUNT, 4, 0);
	testdev_mmio_write(td, 0x14, 4, 0xFFFFFFFF);
	cr_assert_eq(testdev_mmio_read(td, 0x14, 4), 0);
	cr_assert_eq(testdev_mmio_read(td, 0x1F, 1), 0);
	cr_assert_eq(testdev_mmio_read(td, MMIO_COUNT, 4), 3,
	             "read-only; 0x14.. neither store nor count");
	for (unsigned i = 0; i < 254; i++)
		testdev_mmio_write(td, 0x8, 1, i);
	cr_assert_eq(testdev_mmio_read(td, MMIO_COUNT, 2), 0x101);
	cr_assert_eq(testdev_mmio_read(td, MMIO_COUNT + 1, 1), 0x01);
	cr_assert_eq(testdev_mmio_read(td, MMIO_COUNT + 2, 4), 0);
	cr_assert_eq(testdev_read(td, ACCESSES, 4), 0, "ports count apart");
	cr_assert_eq(testdev_read(td, LATCH, 4), 0, "MMIO is not the latch");
}

/* --- port80, debugexit --------------------------------------------------- */

Test(port80, reads_back_last_byte)
{
	struct port80 *p = port80_new();

	cr_assert_not_null(p);
	cr_assert_eq(port80_read(p, 0, 1), 0);
	port80_write(p, 0, 1, 0x5A);
	cr_assert_eq(port80_read(p, 0, 1), 0x5A);
	port80_write(p, 0, 2, 0x1234);
	cr_assert_eq(port80_read(p, 0, 1), 0x34);
	port80_free(p);
}

struct exit_rec {
	int calls, status;
	void *ctx;
};

static void record_exit(void *ctx, int status)
{
	struct exit_rec *r = ctx;

	r->calls++;
	r->status = status;
	r->ctx = ctx;
}

Test(debugexit, write_calls_hook_with_low_byte)
{
	struct exit_rec r = { 0 };
	struct debugexit *d = debugexit_new(record_exit, &r);

	cr_assert_not_null(d);
	debugexit_write(d, 0, 1, 3);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.status, 3);
	cr_assert_eq(r.ctx, &r);
	debugexit_write(d, 0, 4, 0x1FF);
	cr_assert_eq(r.calls, 2);
	cr_assert_eq(r.status, 0xFF);
	cr_assert_eq(debugexit_read(d, 0, 1) & 0xFF, 0xFF);
	cr_assert_eq(r.calls, 2, "reads do not exit");
	debugexit_free(d);
}

/* --- the platform ------------------------------------------------------- */

static struct bus *io, *mmio;
static int out_pipe[2], in_pipe[2];
static struct exit_rec exits;

static void plat_setup(void)
{
	io = bus_new("port");
	mmio = bus_new("mmio");
	cr_assert(io && mmio);
	cr_assert_eq(pipe(out_pipe), 0);
	cr_assert_eq(pipe(in_pipe), 0);
	exits = (struct exit_rec){ 0 };
	cr_redirect_stderr();
}

static void plat_teardown(void)
{
	bus_free(mmio);
	bus_free(io);
	for (int i = 0; i < 2; i++) {
		close(out_pipe[i]);
		if (in_pipe[i] >= 0)
			close(in_pipe[i]);
	}
}

TestSuite(platform, .init = plat_setup, .fini = plat_teardown,
          .timeout = 60);

static struct platform *plat_new(int out_fd, int in_fd)
{
	struct platform_hooks hooks = {
		.request_exit = record_exit, .ctx = &exits,
		.console_out_fd = out_fd, .console_in_fd = in_fd,
	};

	return platform_new(io, mmio, &hooks);
}

static uint8_t inb(uint16_t port)
{
	uint64_t v;

	cr_assert_eq(bus_read(io, port, 1, &v), BUS_OK, "port %#x", port);
	return (uint8_t)v;
}

/* Poll COM1's LSR.DR for up to five seconds, as a guest driver would. */
static bool com1_wait_data(void)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 5000; i++) {
		if (inb(PORT_COM1 + 5) & 0x01)
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

Test(platform, registers_every_device)
{
	struct platform *p = plat_new(out_pipe[1], in_pipe[0]);

	cr_assert_not_null(p);
	for (unsigned i = 0; i < 8; i++)
		cr_assert_str_eq(bus_owner(io, PORT_COM1 + i), "com1");
	for (unsigned i = 0; i < 16; i++)
		cr_assert_str_eq(bus_owner(io, PORT_TESTDEV + i), "testdev");
	cr_assert_str_eq(bus_owner(io, PORT_POST), "port80");
	cr_assert_str_eq(bus_owner(io, PORT_DEBUG_EXIT), "debugexit");
	cr_assert_null(bus_owner(io, PORT_COM1 - 1));
	cr_assert_null(bus_owner(io, PORT_COM1 + 8));
	cr_assert_null(bus_owner(io, PORT_POST + 1));
	cr_assert_null(bus_owner(io, PORT_TESTDEV + 16));
	cr_assert_null(bus_owner(mmio, 0xFEE00000));
	platform_free(p);
}

Test(platform, testdev_on_the_mmio_bus)
{
	struct platform *p = plat_new(-1, -1);
	uint64_t v;

	cr_assert_not_null(p);
	cr_assert_str_eq(bus_owner(mmio, MMIO_TESTDEV), "testdev");
	cr_assert_str_eq(bus_owner(mmio, MMIO_TESTDEV + 0x1F), "testdev");
	cr_assert_null(bus_owner(mmio, MMIO_TESTDEV + 0x20));
	cr_assert_null(bus_owner(mmio, MMIO_TESTDEV - 1));
	cr_assert_eq(bus_write(mmio, MMIO_TESTDEV + 4, 2, 0xBEEF), BUS_OK);
	cr_assert_eq(bus_read(mmio, MMIO_TESTDEV + 5, 1, &v), BUS_OK);
	cr_assert_eq(v, 0xBE);
	cr_assert_eq(bus_read(mmio, MMIO_TESTDEV + 0x10, 4, &v), BUS_OK);
	cr_assert_eq(v, 2);
	platform_free(p);
}

Test(platform, debug_exit_reaches_hook)
{
	struct platform *p = plat_new(-1, -1);

	cr_assert_not_null(p);
	cr_assert_eq(bus_write(io, PORT_DEBUG_EXIT, 1, 7), BUS_OK);
	cr_assert_eq(exits.calls, 1);
	cr_assert_eq(exits.status, 7);
	bus_write(io, PORT_POST, 1, 0x99);
	cr_assert_eq(inb(PORT_POST), 0x99);
	platform_free(p);
}

Test(platform, console_output_is_written_at_once)
{
	struct platform *p = plat_new(out_pipe[1], -1);
	char buf[8] = { 0 };

	cr_assert_not_null(p);
	for (const char *s = "ok\n"; *s; s++)
		bus_write(io, PORT_COM1, 1, (uint8_t)*s);
	cr_assert_eq(read(out_pipe[0], buf, sizeof(buf)), 3);
	cr_assert_str_eq(buf, "ok\n");
	platform_free(p);
}

Test(platform, console_input_reaches_guest_in_order)
{
	static const char msg[] = "a line longer than sixteen bytes\n";
	struct platform *p = plat_new(out_pipe[1], in_pipe[0]);

	cr_assert_not_null(p);
	cr_assert_eq(write(in_pipe[1], msg, sizeof(msg) - 1),
	             (ssize_t)sizeof(msg) - 1);
	close(in_pipe[1]);          /* EOF ends the input thread */
	in_pipe[1] = -1;
	for (size_t i = 0; i < sizeof(msg) - 1; i++) {
		cr_assert(com1_wait_data(), "byte %zu never arrived", i);
		cr_assert_eq(inb(PORT_COM1 + 5) & 0x02, 0, "no overrun");
		cr_assert_eq(inb(PORT_COM1), (uint8_t)msg[i]);
	}
	platform_free(p);
}

Test(platform, free_stops_a_blocked_input_thread)
{
	struct platform *p = plat_new(out_pipe[1], in_pipe[0]);

	cr_assert_not_null(p);
	/* Two bytes: the thread waits for room behind the first. */
	cr_assert_eq(write(in_pipe[1], "xy", 2), 2);
	cr_assert(com1_wait_data());
	platform_free(p);           /* must return */
}

Test(platform, free_stops_an_idle_input_thread)
{
	struct platform *p = plat_new(out_pipe[1], in_pipe[0]);

	cr_assert_not_null(p);
	platform_free(p);           /* the thread sits in poll: must return */
}

Test(platform, registration_failure_names_device)
{
	cr_assert_eq(bus_register(io, "intruder", PORT_POST, 1, NULL, NULL,
	                          NULL), 0);
	cr_assert_null(plat_new(out_pipe[1], in_pipe[0]));
	fflush(stderr);
	cr_assert_stderr_eq_str("popek: device port80: cannot claim port "
	                        "0x80..0x80: taken by intruder\n");
}
