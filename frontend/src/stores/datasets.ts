// The user's uploaded datasets: the list, the upload in progress, the one chosen for training with its options
// (target, features, test split, preprocessing, augmentation; kept across reloads) and its description for those
// options (fields with shape and dtype, planned steps), fetched again whenever the options change.
import { create } from "zustand";
import { persist } from "zustand/middleware";
import { type Schemas, client, ok, upload } from "../api/client";
import { type Fields, bindings } from "../lib/binding";
import { offerUndo } from "../ui/UndoToast";
import { useGraph } from "./graph";
import { notify } from "./notice";
import { useTrain } from "./train";

export type Upload = Schemas["UploadedDataset"];
export type UploadDetail = Schemas["DatasetDetail"];
export type Preprocessing = Partial<Schemas["PreprocessingOptions"]>;
export type Augmentation = Schemas["AugmentationOptions"];

export type DatasetOptions = {
  target: string[] | null;
  features: string[] | null;
  test_split: number;
  preprocessing: Preprocessing;
  augmentation: Augmentation | null;
};

export const defaultOptions = (): DatasetOptions => ({
  target: null,
  features: null,
  test_split: 0.2,
  preprocessing: {},
  augmentation: null,
});

export const noAugmentation = (): Augmentation => ({
  hflip: false,
  vflip: false,
  rotation: 0,
  crop_padding: 0,
  brightness: 0,
  noise: 0,
});

type DatasetsState = {
  uploads: Upload[];
  /** The upload a run trains on; null: the built-in dataset chosen in the Train tab. */
  chosen: string | null;
  options: Record<string, DatasetOptions>;
  detail: UploadDetail | null;
  detailError: string | null;
  /** 0..1 while a file is being sent, else null. */
  progress: number | null;
  uploading: string | null;
  uploadError: string | null;
  listError: string | null;
  refresh: () => Promise<void>;
  send: (file: File) => Promise<void>;
  /** Uploads deleted in the list whose Undo toast is still up: left out of the list (and of training), deleted
   * on the server with their files when the offer ends without Undo. */
  deleting: string[];
  /** Hide the upload and offer Undo (as deleting a run does); the server deletes it once the offer ends. */
  remove: (id: string) => void;
  choose: (id: string | null) => void;
  setOptions: (id: string, patch: Partial<DatasetOptions>) => void;
  loadDetail: () => Promise<void>;
};

let detailRequest = 0;
/** Bumped by every change this page makes to the list (an upload made, one deleted): a list asked for before such a
 * change answers with the server's list of before it, so it is asked for again rather than undoing the change. */
let listVersion = 0;

export const useDatasets = create<DatasetsState>()(
  persist(
    (set, get) => ({
      uploads: [],
      chosen: null,
      options: {},
      detail: null,
      detailError: null,
      progress: null,
      uploading: null,
      uploadError: null,
      listError: null,
      deleting: [],
      refresh: async () => {
        try {
          let uploads: Upload[];
          let version: number;
          do {
            version = listVersion;
            uploads = await ok(client.GET("/api/datasets"));
          } while (version !== listVersion);
          uploads = uploads.filter((u) => !get().deleting.includes(u.id));
          const chosen = get().chosen;
          set({ uploads, listError: null, chosen: chosen && uploads.some((u) => u.id === chosen) ? chosen : null });
        } catch (e) {
          set({ listError: `Could not list the uploads: ${(e as Error).message}` });
        }
      },
      send: async (file) => {
        set({ progress: 0, uploading: file.name, uploadError: null });
        const form = new FormData();
        form.append("file", file, file.name);
        try {
          const made = await upload<Upload>("/api/datasets", form, (sent) => set({ progress: sent }));
          listVersion++;
          set({ uploads: [made, ...get().uploads.filter((u) => u.id !== made.id)], chosen: made.id, detail: null });
          void get().loadDetail();
        } catch (e) {
          set({ uploadError: `${file.name}: ${(e as Error).message}` });
        } finally {
          set({ progress: null, uploading: null });
        }
      },
      remove: (id) => {
        const name = get().uploads.find((u) => u.id === id)?.name ?? id;
        const wasChosen = get().chosen === id;
        const forget = () => set({ deleting: get().deleting.filter((x) => x !== id) });
        listVersion++;
        set({
          deleting: [...get().deleting, id],
          uploads: get().uploads.filter((u) => u.id !== id),
          ...(wasChosen ? { chosen: null, detail: null } : {}),
        });
        offerUndo(
          `Deleted upload '${name}'.`,
          () => {
            forget();
            listVersion++;
            void get()
              .refresh()
              .then(() => {
                if (wasChosen && get().chosen === null) get().choose(id);
              });
          },
          () => {
            // keepalive: the request still goes when the offer ends because the page is closing.
            client
              .DELETE("/api/datasets/{dataset_id}", { params: { path: { dataset_id: id } }, keepalive: true })
              .then(() => {
                const { [id]: _, ...options } = get().options;
                set({ options });
              })
              .catch((e: Error) => notify(`Could not delete upload '${name}': ${e.message}`))
              .finally(() => {
                forget();
                listVersion++;
                void get().refresh();
              });
          },
        );
      },
      choose: (id) => {
        set({ chosen: id, detail: null, detailError: null });
        if (id) void get().loadDetail();
      },
      setOptions: (id, patch) => {
        set({ options: { ...get().options, [id]: { ...optionsOf(id), ...patch } } });
        if (id === get().chosen) void get().loadDetail();
      },
      loadDetail: async () => {
        const id = get().chosen;
        if (!id) return;
        const request = ++detailRequest;
        const o = optionsOf(id);
        const { seed, validation_split } = useTrain.getState().config; // the rows a run's tokenizer is trained on
        const query = {
          target: o.target ?? undefined,
          features: o.features ?? undefined,
          preprocessing: Object.keys(o.preprocessing).length ? JSON.stringify(o.preprocessing) : undefined,
          seed,
          validation_split,
        };
        try {
          const detail = await ok(client.GET("/api/datasets/{dataset_id}", { params: { path: { dataset_id: id }, query } }));
          if (request === detailRequest) set({ detail, detailError: null });
        } catch (e) {
          if (request === detailRequest) set({ detailError: (e as Error).message });
        }
      },
    }),
    { name: "netcanvas.datasets", partialize: (s) => ({ chosen: s.chosen, options: s.options }) },
  ),
);

export function optionsOf(id: string): DatasetOptions {
  return { ...defaultOptions(), ...useDatasets.getState().options[id] };
}

/** The run request's dataset when an upload is chosen: its id and the options (null: use the built-in one). */
export function uploadRef(): Record<string, unknown> | null {
  const id = useDatasets.getState().chosen;
  if (!id) return null;
  const o = optionsOf(id);
  const augmentation = o.augmentation && Object.values(o.augmentation).some(Boolean) ? o.augmentation : null;
  return {
    id,
    ...(o.target?.length ? { target: o.target } : {}),
    ...(o.features?.length ? { features: o.features } : {}),
    test_split: o.test_split,
    preprocessing: o.preprocessing,
    ...(augmentation ? { augmentation } : {}),
  };
}

/** The name of what a run, a study or an ensemble trains on, as the forms show it: the chosen upload's file name,
 * else the built-in dataset `builtin` (the Train tab's). */
export function useDatasetLabel(builtin: string): string {
  return useDatasets((s) => (s.chosen ? (s.uploads.find((u) => u.id === s.chosen)?.name ?? "your upload") : builtin));
}

/** The rows each split will get: scikit-learn's rounding (the test part is ceil(n × fraction)), rows without a
 * target left out; small pools are not split, as on the server. */
export function splitCounts(rows: number, testSplit: number, validationSplit: number): [number, number, number] {
  const cut = (n: number, fraction: number) => (fraction <= 0 || n < 4 ? 0 : Math.ceil(n * fraction));
  const test = cut(rows, testSplit);
  const validation = cut(rows - test, validationSplit);
  return [rows - test - validation, validation, test];
}

/** The fields of an upload's description as binding reads them. */
export function detailFields(detail: UploadDetail): Fields {
  return { fields: Object.entries(detail.fields).map(([name, f]) => ({ name, role: f.role, shape: f.shape, dtype: f.dtype })) };
}

/** Input node id -> why it does not fit the chosen upload's fields: drawn in amber on the canvas before training. */
export const useInputProblems = create<Record<string, string>>(() => ({}));

let shownProblems = "{}";
function checkInputs(): void {
  const { chosen, detail } = useDatasets.getState();
  const problems: Record<string, string> = {};
  if (chosen && detail?.id === chosen) {
    for (const b of bindings(useGraph.getState().nodes, detailFields(detail))) {
      if (b.kind === "Input" && b.problem) problems[b.name] = `${detail.name}: ${b.problem}`;
    }
  }
  const text = JSON.stringify(problems);
  if (text !== shownProblems) {
    shownProblems = text;
    useInputProblems.setState(problems, true);
  }
}
useGraph.subscribe(checkInputs);
useDatasets.subscribe(checkInputs);
