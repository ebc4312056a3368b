from portal.csv_export import BATCH_ROWS, CHUNK_CHARS, csv_chunks, csv_lines

COLUMNS = ["id", "name", "organisation"]
ROWS = [
    {"id": i, "name": f'O\'Brien "Junior", {i}', "organisation": "Acme,\nInc." if i % 3 else ""}
    for i in range(200)
]


def test_export_pieces_join_to_exactly_the_csv_lines():
    assert "".join(csv_chunks(COLUMNS, ROWS, size=500)) == "".join(csv_lines(COLUMNS, ROWS))


def test_export_pieces_stay_bounded_whatever_the_number_of_rows():
    longest_line = max(len(line) for line in csv_lines(COLUMNS, ROWS))

    pieces = list(csv_chunks(COLUMNS, ROWS, size=500, batch_rows=5))

    assert len(pieces) > 10
    # A piece is at least the size asked for (the last may be shorter) and at most that
    # plus one batch of rows: the batch is written whole.
    assert min(len(piece) for piece in pieces[:-1]) >= 500
    assert max(len(piece) for piece in pieces) < 500 + 5 * longest_line


def test_a_large_export_with_the_default_sizes_hands_over_pieces_under_a_quarter_megabyte():
    rows = [{**row, "id": n} for n in range(100) for row in ROWS]  # 20,000 rows, 1 MB
    longest_line = max(len(line) for line in csv_lines(COLUMNS, ROWS))

    pieces = list(csv_chunks(COLUMNS, rows))

    assert "".join(pieces) == "".join(csv_lines(COLUMNS, rows))
    assert len(pieces) >= 5
    assert max(len(piece) for piece in pieces) <= CHUNK_CHARS + BATCH_ROWS * longest_line
    assert CHUNK_CHARS + BATCH_ROWS * longest_line < 256 * 1024
