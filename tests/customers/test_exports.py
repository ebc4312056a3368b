from portal.csv_export import csv_chunks, csv_lines

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
