# mmstudio: `make run` opens the app on the built-in demo, `make test` runs the tests.
# Both create .venv when it is missing and install the package into it.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build fits every machine; for a GPU pick the matching build, e.g.
#   make TORCH="torch --index-url https://download.pytorch.org/whl/cu124" run
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: run test setup clean bench bundle smoke-bundle install-desktop uninstall-desktop desktop-caches

run: $(STAMP)
	$(BIN)/mmstudio

# The tests run in two processes (pytest-xdist), a test file in one of them: many tests wait on
# threads and subprocesses, and one process alone left a core idle. PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= 2
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[test,distributed]"
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/python benchmarks/encode.py

clean:
	rm -rf $(VENV) build dist *.egg-info

# --- desktop packaging (packaging/README.md); not part of `make test` -------------------------------
# `make bundle`: a one-folder PyInstaller bundle in dist/mmstudio/ (several minutes), then its smoke test.
bundle: $(STAMP)
	$(BIN)/python -c "import PyInstaller" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[bundle]"
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/mmstudio.spec
	$(BIN)/python packaging/smoke.py dist/mmstudio/mmstudio

smoke-bundle: $(STAMP)
	$(BIN)/python packaging/smoke.py dist/mmstudio/mmstudio

# `make install-desktop`: menu entry, icons, AppStream metainfo and the .mmstudio file type, for this
# user. The entry runs `mmstudio` from PATH (pipx); point it elsewhere with EXEC, e.g.
#   make install-desktop EXEC=$$PWD/dist/mmstudio/mmstudio      (the bundle)
#   make install-desktop EXEC=$$PWD/.venv/bin/mmstudio          (make run's venv)
APP_ID     := io.github.mmstudio.mmstudio
DATA_HOME  := $(or $(XDG_DATA_HOME),$(HOME)/.local/share)
ICON_SIZES := 16 32 48 64 128 256 512
EXEC       ?= mmstudio

install-desktop:
	install -d "$(DATA_HOME)/applications" "$(DATA_HOME)/mime/packages" "$(DATA_HOME)/metainfo" \
		"$(DATA_HOME)/icons/hicolor/scalable/apps"
	sed -e 's|^Exec=mmstudio|Exec=$(EXEC)|' -e 's|^TryExec=mmstudio|TryExec=$(EXEC)|' \
		packaging/linux/$(APP_ID).desktop > "$(DATA_HOME)/applications/$(APP_ID).desktop"
	for size in $(ICON_SIZES); do \
		install -D -m 644 packaging/icons/hicolor/$${size}x$${size}/apps/$(APP_ID).png \
			"$(DATA_HOME)/icons/hicolor/$${size}x$${size}/apps/$(APP_ID).png" || exit 1; \
	done
	install -m 644 packaging/icons/mmstudio.svg "$(DATA_HOME)/icons/hicolor/scalable/apps/$(APP_ID).svg"
	install -m 644 packaging/linux/$(APP_ID).mime.xml "$(DATA_HOME)/mime/packages/$(APP_ID).xml"
	install -m 644 packaging/linux/$(APP_ID).metainfo.xml "$(DATA_HOME)/metainfo/$(APP_ID).metainfo.xml"
	@$(MAKE) --no-print-directory desktop-caches

uninstall-desktop:
	rm -f "$(DATA_HOME)/applications/$(APP_ID).desktop" "$(DATA_HOME)/mime/packages/$(APP_ID).xml" \
		"$(DATA_HOME)/metainfo/$(APP_ID).metainfo.xml" "$(DATA_HOME)/icons/hicolor/scalable/apps/$(APP_ID).svg"
	for size in $(ICON_SIZES); do rm -f "$(DATA_HOME)/icons/hicolor/$${size}x$${size}/apps/$(APP_ID).png"; done
	@$(MAKE) --no-print-directory desktop-caches

# Refresh the desktop's caches with whichever tools this system has (none is required).
desktop-caches:
	@if command -v update-desktop-database >/dev/null 2>&1; then \
		update-desktop-database -q "$(DATA_HOME)/applications" || true; fi
	@if command -v update-mime-database >/dev/null 2>&1; then update-mime-database "$(DATA_HOME)/mime" || true; fi
	@if command -v gtk-update-icon-cache >/dev/null 2>&1; then \
		gtk-update-icon-cache -q -t -f "$(DATA_HOME)/icons/hicolor" || true; fi
